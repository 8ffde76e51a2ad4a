import { describe, expect, it } from 'vitest'
import { DEFAULT_HOST } from './runtime.js'
import { listenNotice, readStartConfig, type StartConfig } from './config-schema.js'

const config = (flags: Record<string, string>, env: Record<string, string> = {}): StartConfig => {
  const r = readStartConfig(flags, env)
  if (!r.ok) throw new Error(r.error)
  return r.config
}
const error = (flags: Record<string, string>, env: Record<string, string> = {}): string => {
  const r = readStartConfig(flags, env)
  if (r.ok) throw new Error('expected a refusal')
  return r.error
}

describe('kindred start: settings from flags and environment', () => {
  it('listens on this machine only unless told otherwise', () => {
    expect(DEFAULT_HOST).toBe('127.0.0.1')
    expect(config({})).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      role: 'all',
      dataDir: '.kindred',
      logLevel: 'info',
    })
  })

  it('opens with --host, KINDRED_HOST or HOST, the flag first and an empty variable unset', () => {
    expect(config({ host: '0.0.0.0' }, { KINDRED_HOST: '10.0.0.5' }).host).toBe('0.0.0.0')
    expect(config({}, { KINDRED_HOST: '10.0.0.5', HOST: '0.0.0.0' }).host).toBe('10.0.0.5')
    expect(config({}, { HOST: '0.0.0.0' }).host).toBe('0.0.0.0')
    expect(config({}, { KINDRED_HOST: '', HOST: '' }).host).toBe('127.0.0.1')
    expect(config({ host: '::' }).host).toBe('::')
    expect(error({ host: 'http://0.0.0.0' })).toMatch(/^invalid --host http:\/\/0\.0\.0\.0/)
    expect(error({}, { KINDRED_HOST: 'a b' })).toMatch(/^invalid KINDRED_HOST/)
  })

  it('reads the port, data dir and the other variables, and names what is wrong', () => {
    expect(config({ port: '9000' }, { PORT: '7000' }).port).toBe(9000)
    expect(config({}, { PORT: '7000' }).port).toBe(7000)
    // `PORT=` used to become port 0 (any free port): unset means the default.
    expect(config({}, { PORT: '' }).port).toBe(8787)
    expect(error({ port: '70000' })).toBe('invalid --port 70000')
    expect(error({}, { PORT: 'eighty' })).toMatch(/^invalid PORT/)
    expect(config({ 'data-dir': '/a' }, { KINDRED_DATA_DIR: '/b' }).dataDir).toBe('/a')
    expect(config({}, { KINDRED_DATA_DIR: '/b' }).dataDir).toBe('/b')
    expect(error({ role: 'nope' })).toMatch(/^invalid --role nope; one of all, ingest/)
    expect(config({}, { KINDRED_TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(config({}, { KINDRED_TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback')
    expect(config({}, { KINDRED_TRUST_PROXY: '' }).trustProxy).toBeUndefined()
    expect(config({}, { KINDRED_IDENTITY_CACHE_SIZE: '0' }).identityCacheSize).toBe(0)
    expect(error({}, { KINDRED_IDENTITY_CACHE_SIZE: '-1' })).toMatch(
      /^invalid KINDRED_IDENTITY_CACHE_SIZE/,
    )
    expect(error({}, { LOG_LEVEL: 'loud' })).toMatch(/^invalid LOG_LEVEL/)
    expect(config({}, { DATABASE_URL: '', KINDRED_ADMIN_TOKEN: 'x'.repeat(20) })).toMatchObject({
      databaseUrl: undefined,
      adminToken: 'x'.repeat(20),
    })
  })

  it('says where it listens and how to open it to other machines', () => {
    const local = listenNotice('http://127.0.0.1:8787', '127.0.0.1')
    expect(local).toContain('open http://127.0.0.1:8787')
    expect(local).toContain('this machine only')
    expect(local).toContain('--host 0.0.0.0')
    const open = listenNotice('http://0.0.0.0:8787', '0.0.0.0')
    expect(open).toContain('open http://localhost:8787')
    expect(open).toContain('every interface')
    expect(listenNotice('http://10.0.0.5:8787', '10.0.0.5')).toContain('listens on 10.0.0.5 only')
  })
})
