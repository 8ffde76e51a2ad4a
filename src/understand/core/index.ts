/**
 * What other capabilities may use of understand's pure core: the condition language on one JSON
 * value (`segments/value-condition.ts`). Destination filters speak it today, journeys next, so a
 * marketer learns one set of operators and both evaluators agree on its semantics.
 */
export {
  isoDateSchema,
  matchValue,
  valueConditionSchema,
  type ValueCondition,
} from './segments/value-condition.js'
