import { describe, expect, it } from 'vitest'
import { buildPath, matchPath } from './routes.js'

describe('matchPath', () => {
  it('matches static and parameter segments', () => {
    expect(matchPath('/', '/')).toEqual({})
    expect(matchPath('/profiles', '/profiles/')).toEqual({})
    expect(matchPath('/profiles/:id', '/profiles/p%201')).toEqual({ id: 'p 1' })
    expect(matchPath('/segments/:id/edit', '/segments/s1/edit')).toEqual({ id: 's1' })
  })

  it('rejects other paths', () => {
    expect(matchPath('/profiles/:id', '/profiles')).toBeNull()
    expect(matchPath('/sources', '/segments')).toBeNull()
    expect(matchPath('/a/:id', '/a/%E0%A4%A')).toBeNull()
  })

  it('builds paths with encoded parameters', () => {
    expect(buildPath('/profiles/:id', { id: 'a/b' })).toBe('/profiles/a%2Fb')
  })
})
