/** The environment schema: defaults, the lake switch, and a bad value naming its variable. */
import { describe, expect, it } from 'vitest'
import { KindredError } from '../protocol/errors.js'
import { parseConfig } from './config-schema.js'

describe('parseConfig', () => {
  it('defaults: the lake on, in the data dir, flushed within 30 s', () => {
    expect(parseConfig({})).toEqual({ KINDRED_LAKE: 'on', KINDRED_LAKE_FLUSH_SECONDS: 30 })
    // An empty variable is an unset one (`KINDRED_LAKE_DIR=` in an env file).
    expect(parseConfig({ KINDRED_LAKE: '', KINDRED_LAKE_DIR: '' })).toEqual(parseConfig({}))
  })

  it('reads the lake switch, directory and flush interval', () => {
    expect(
      parseConfig({
        KINDRED_LAKE: 'off',
        KINDRED_LAKE_DIR: '/mnt/lake',
        KINDRED_LAKE_FLUSH_SECONDS: '5',
      }),
    ).toEqual({ KINDRED_LAKE: 'off', KINDRED_LAKE_DIR: '/mnt/lake', KINDRED_LAKE_FLUSH_SECONDS: 5 })
  })

  it('refuses a bad value with the variable it came from', () => {
    const bad = () => parseConfig({ KINDRED_LAKE: 'yes', KINDRED_LAKE_FLUSH_SECONDS: '0' })
    expect(bad).toThrow(KindredError)
    expect(bad).toThrow(/KINDRED_LAKE: .*KINDRED_LAKE_FLUSH_SECONDS: /)
  })
})
