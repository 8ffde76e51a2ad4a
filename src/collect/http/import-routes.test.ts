/**
 * The import preview the console's import page shows before anything is uploaded: a suggested
 * mapping from the header and values, and the first rows checked exactly as the import will check
 * them (an e-mail-keyed CRM export is accepted as it is; a row with no identifier is refused with
 * the reason), without storing anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

describe('POST /api/v1/imports/preview', () => {
  let k: TestKindred
  let sourceId: string
  beforeAll(async () => {
    k = await startTestKindred()
    ;({ id: sourceId } = await k.createSource('crm'))
  }, 60_000)
  afterAll(async () => k?.close())

  const preview = (body: Record<string, unknown>) =>
    k.admin('/api/v1/imports/preview', { method: 'POST', body: { sourceId, ...body } })

  const csv = [
    'E-Mail,First Name,Mobile,Country,tier',
    ' Ada.Lovelace@Example.com ,Ada,030 1234567,DE, GOLD',
    ',Nobody,,,silver',
    'grace@example.org,Grace,,US,gold',
    'partial@exa', // cut off mid-row: not part of the preview
  ].join('\n')

  it('suggests a mapping and checks the complete rows the way the import will', async () => {
    const res = await preview({ kind: 'profiles', format: 'csv', sample: csv })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      columns: string[]
      suggested: Array<{ column: string; to: string; reason: string }>
      mapping: { columns: Record<string, string> }
      rows: Array<{
        row: number
        ok: boolean
        event?: Record<string, unknown>
        stored?: {
          identifiers: Array<{ type: string; value: string }>
          traits: Record<string, unknown>
        }
        issues?: Array<{ code: string }>
      }>
      summary: { rows: number; accepted: number; rejected: number }
    }
    expect(body.columns).toEqual(['E-Mail', 'First Name', 'Mobile', 'Country', 'tier'])
    expect(body.mapping.columns).toMatchObject({
      'E-Mail': 'traits.email',
      'First Name': 'traits.firstName',
      Mobile: 'traits.phone',
      Country: 'traits.country',
    })
    expect(body.summary).toEqual({ rows: 3, accepted: 2, rejected: 1 })
    expect(body.rows.map((r) => r.ok)).toEqual([true, false, true])
    expect(body.rows[1]?.issues?.[0]?.code).toBe('missing_identity')
    const traits = body.rows[0]?.event?.traits as Record<string, unknown>
    expect(traits.firstName).toBe('Ada')
    expect(body.rows[0]?.event?.type).toBe('identify')
    // What the profile will hold: the identity stage's identifiers, the golden record's values.
    expect(body.rows[0]?.stored?.identifiers).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'ada.lovelace@example.com' },
        { type: 'phone', value: '+49301234567' },
      ]),
    )
    expect(body.rows[0]?.stored?.traits).toMatchObject({
      email: 'ada.lovelace@example.com',
      phone: '+49301234567',
    })
  })

  it('checks rows with the mapping given, and the whole sample when it is the whole file', async () => {
    const res = await preview({
      kind: 'profiles',
      format: 'csv',
      sample: 'E-Mail,tier\nx@example.com,gold\nlast@example.com,silver',
      complete: true,
      mapping: { columns: { 'E-Mail': 'ignore' }, unmapped: 'auto' },
    })
    const body = (await res.json()) as { summary: { rows: number; accepted: number } }
    // The e-mail column ignored: no row has an identifier left.
    expect(body.summary).toEqual({ rows: 2, accepted: 0, rejected: 2 })
  })

  it('refuses a bad request with a clear error and stores nothing', async () => {
    const bad = await preview({ kind: 'profiles', format: 'xlsx', sample: 'a' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
    const big = await preview({ kind: 'events', format: 'jsonl', sample: 'x'.repeat(300_000) })
    expect(big.status).toBeGreaterThanOrEqual(400)
    const unknown = await k.admin('/api/v1/imports/preview', {
      method: 'POST',
      body: { sourceId: 'src_missing', kind: 'events', format: 'jsonl', sample: '' },
    })
    expect(unknown.status).toBe(404)
    // A quote the sample leaves open: the file's problem, said as such, not a server error.
    const unclosed = await preview({
      kind: 'profiles',
      format: 'csv',
      sample: 'email,note\na@example.com,"never closed\n',
      complete: true,
    })
    expect(unclosed.status).toBe(400)
    expect(((await unclosed.json()) as { error: { message: string } }).error.message).toContain(
      'cannot be read as CSV',
    )
    const list = (await (await k.admin('/api/v1/imports')).json()) as { data: unknown[] }
    expect(list.data).toEqual([])
  })
})
