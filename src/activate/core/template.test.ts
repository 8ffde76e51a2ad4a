import { describe, expect, it } from 'vitest'
import { DestinationError } from './contract.js'
import { checkTemplate, renderTemplate } from './template.js'

describe('renderTemplate', () => {
  it('renders traits with defaults', () => {
    expect(renderTemplate('Hi {{ traits.first_name | default: "there" }}!', { traits: {} })).toBe(
      'Hi there!',
    )
    expect(
      renderTemplate('Hi {{ traits.first_name | default: "there" }}!', {
        traits: { first_name: 'Ada' },
      }),
    ).toBe('Hi Ada!')
    expect(
      renderTemplate('{{ properties.revenue | times: 2 }}', { properties: { revenue: 21 } }),
    ).toBe('42')
  })

  it('rejects unknown filters instead of ignoring them', () => {
    expect(() => renderTemplate('{{ traits.x | shout }}', { traits: {} })).toThrow(DestinationError)
    expect(() => renderTemplate('{{ traits.x | shout }}', { traits: {} })).toThrow(/template error/)
    expect(checkTemplate('{{ x | shout }}')).toMatch(/undefined filter: shout/) // caught when settings are saved
    expect(checkTemplate('{{ x | upcase }}')).toBeNull()
    expect(checkTemplate('{% if %}')).not.toBeNull()
  })

  it('cannot read files: include and render find nothing', () => {
    expect(() => renderTemplate("{% include '/etc/passwd' %}", {})).toThrow(/template error/)
    expect(() => renderTemplate("{% render '../../package.json' %}", {})).toThrow(/template error/)
  })

  it('does not expose prototype members', () => {
    class WithProto {
      get secret() {
        return 'leaked'
      }
    }
    expect(
      renderTemplate('[{{ obj.secret }}][{{ obj.constructor }}]', { obj: new WithProto() }),
    ).toBe('[][]')
  })

  it('caps template and output length', () => {
    const limits = { maxTemplateLength: 50, maxOutputLength: 20 }
    expect(() => renderTemplate('x'.repeat(51), {}, limits)).toThrow(/limit is 50/)
    expect(() => renderTemplate('{% for i in (1..100) %}ab{% endfor %}', {}, limits)).toThrow(
      /limit is 20/,
    )
    expect(renderTemplate('{% for i in (1..3) %}ab{% endfor %}', {}, limits)).toBe('ababab')
  })
})

describe('renderTemplate limits on the event loop', () => {
  // Nested loops building a capture: about 12 s of synchronous work without limits.
  const captureBomb =
    '{% capture c %}{% for a in (1..2000) %}{% for b in (1..2000) %}{{ b }}{% endfor %}{% endfor %}{% endcapture %}{{ c | size }}'

  it('stops the nested-loop capture within a bound, with a template error', () => {
    const started = performance.now()
    let error: unknown
    try {
      renderTemplate(captureBomb, {})
    } catch (err) {
      error = err
    }
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(error).toBeInstanceOf(DestinationError)
    expect((error as DestinationError).code).toBe('TEMPLATE_ERROR')
    // Whichever budget runs out first on this machine: time or characters written.
    expect((error as Error).message).toMatch(/took longer than 100 ms|writes more than 100000/)
  })

  it('counts captures against the write budget as they are written', () => {
    const limits = { maxTemplateLength: 10_000, maxOutputLength: 100, maxWrittenLength: 1_000 }
    // The output is a few characters; the capture behind it is not.
    expect(() => renderTemplate(captureBomb, {}, limits)).toThrow(/writes more than 1000/)
    expect(
      renderTemplate(
        '{% capture c %}{% for b in (1..10) %}x{% endfor %}{% endcapture %}{{ c | size }}',
        {},
        limits,
      ),
    ).toBe('10')
  })

  it('stops a render that takes longer than its time limit, even writing nothing', () => {
    const spin = '{% for a in (1..3000) %}{% for b in (1..3000) %}{% endfor %}{% endfor %}done'
    const started = performance.now()
    let error: unknown
    try {
      renderTemplate(spin, {})
    } catch (err) {
      error = err
    }
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(error).toBeInstanceOf(DestinationError)
    expect((error as DestinationError).code).toBe('TEMPLATE_ERROR')
    expect((error as Error).message).toMatch(/took longer than 100 ms/)
  })

  it('refuses such templates when settings are saved (a test render with empty data)', () => {
    expect(checkTemplate(captureBomb)).toMatch(/took longer than|writes more than/)
    expect(
      checkTemplate('{% for a in (1..3000) %}{% for b in (1..3000) %}{% endfor %}{% endfor %}'),
    ).toMatch(/took longer than/)
    // Loops over event data are fine with empty data; their cost is bounded at delivery.
    expect(checkTemplate('{% for p in properties.items %}{{ p }}{% endfor %}')).toBeNull()
    expect(checkTemplate('Hi {{ traits.first_name | default: "there" }}')).toBeNull()
  })
})
