import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DomainError, KindredError } from '../../protocol/errors.js'
import { IdentityError } from '../../unify/core/identity/identity-errors.js'
import { LinkageError } from '../../unify/core/identity/linkage/engine.js'
import { SegmentDefinitionError } from '../../understand/core/segments/definition.js'
import { ComputedTraitDefinitionError } from '../../understand/core/computed-traits/definition.js'
import { PlanSchemaError } from '../../collect/core/tracking-plan.js'
import { DestinationError } from '../../activate/core/contract.js'
import { OutboundRefusedError } from '../../activate/engine/executors/outbound-guard.js'
import { LinkageCliError } from '../../cli/linkage-commands.js'
import { codeOfKind, toKindredError } from './errors.js'

const issues = [{ path: 'a', message: 'bad' }]

describe('every domain error has one answer at the edge', () => {
  it.each<[string, DomainError, number, string, unknown]>([
    [
      'IdentityError (input)',
      new IdentityError('SPLIT_UNKNOWN_IDENTIFIER', 'not on this profile', ['x']),
      400,
      'VALIDATION_FAILED',
      { code: 'SPLIT_UNKNOWN_IDENTIFIER', details: ['x'] },
    ],
    [
      'IdentityError (a profile merged meanwhile)',
      new IdentityError('SPLIT_PROFILE_MERGED'),
      409,
      'CONFLICT',
      { code: 'SPLIT_PROFILE_MERGED', details: undefined },
    ],
    [
      'IdentityError (our bug)',
      new IdentityError('SNAPSHOT_INCOMPLETE', 'missing prf_1'),
      500,
      'INTERNAL',
      undefined,
    ],
    [
      'SegmentDefinitionError',
      new SegmentDefinitionError('SEGMENT_CYCLE', 'a cycle', issues),
      400,
      'VALIDATION_FAILED',
      { code: 'SEGMENT_CYCLE', issues },
    ],
    [
      'ComputedTraitDefinitionError',
      new ComputedTraitDefinitionError('bad trait', issues),
      400,
      'VALIDATION_FAILED',
      { code: 'COMPUTED_TRAIT_DEFINITION_INVALID', issues },
    ],
    [
      'LinkageError',
      new LinkageError('LINKAGE_BAD_PARAMETERS', 'bad m/u'),
      400,
      'VALIDATION_FAILED',
      { code: 'LINKAGE_BAD_PARAMETERS', details: undefined },
    ],
    [
      'PlanSchemaError',
      new PlanSchemaError('events.X', 'events.X: type must be a string'),
      400,
      'VALIDATION_FAILED',
      [{ path: 'events.X', message: 'events.X: type must be a string' }],
    ],
    [
      'DestinationError (settings)',
      new DestinationError('INVALID_SETTINGS', 'bad settings', issues),
      400,
      'VALIDATION_FAILED',
      issues,
    ],
    [
      'DestinationError (a secret the key cannot open)',
      new DestinationError('SECRET_DECRYPT_FAILED', 'cannot decrypt'),
      500,
      'CONFIG_INVALID',
      undefined,
    ],
    [
      'OutboundRefusedError',
      new OutboundRefusedError({ code: 'OUTBOUND_ADDRESS_REFUSED', message: 'private' }),
      403,
      'FORBIDDEN',
      { code: 'OUTBOUND_ADDRESS_REFUSED', details: undefined },
    ],
    [
      'LinkageCliError',
      new LinkageCliError('LINKAGE_EMPTY_INPUT', 'no rows'),
      400,
      'VALIDATION_FAILED',
      { code: 'LINKAGE_EMPTY_INPUT', details: undefined },
    ],
    [
      'KindredError',
      new KindredError('NOT_FOUND', 'profile p not found'),
      404,
      'NOT_FOUND',
      undefined,
    ],
  ])('%s → %i %s', (_name, err, status, code, details) => {
    expect(err).toBeInstanceOf(DomainError)
    const ke = toKindredError(err)
    expect(ke.status).toBe(status)
    expect(ke.code).toBe(code)
    expect(ke.details).toEqual(details)
    if (code === 'INTERNAL') expect(ke.message).not.toContain(err.message)
    else expect(ke.message).toBe(err.message)
  })

  it('maps every kind to a wire code', () => {
    for (const [kind, code] of Object.entries(codeOfKind)) {
      const ke = toKindredError(new DomainError(kind as keyof typeof codeOfKind, 'X', 'm'))
      expect(ke.code).toBe(code)
    }
  })

  it('recognises a domain error by its class, not its name', () => {
    const impostor = Object.assign(new Error('looks like one'), {
      name: 'IdentityError',
      code: 'SPLIT_EMPTY',
    })
    expect(toKindredError(impostor).code).toBe('INTERNAL')
  })

  it('answers zod failures as invalid input with the issues', () => {
    const r = z.object({ a: z.string() }).safeParse({ a: 1 })
    const ke = toKindredError(r.error)
    expect(ke.status).toBe(400)
    expect(ke.details).toEqual(r.error?.issues)
  })

  it.each([
    ['an Error', new Error('connection string postgres://u:secret@db')],
    ['a thrown string', 'SELECT * FROM users'],
    ['a bug inside a domain error', new IdentityError('PLAN_UNKNOWN_PROFILE', 'prf_secret')],
  ])('answers %s with a 500 that does not leak its message', (_what, err) => {
    const ke = toKindredError(err)
    expect(ke.status).toBe(500)
    expect(ke.code).toBe('INTERNAL')
    expect(ke.message).toBe('internal error; retry, and report it if it persists')
    expect(JSON.stringify(ke.toBody())).not.toMatch(/secret|SELECT/)
    expect(ke.cause).toBe(err)
  })
})
