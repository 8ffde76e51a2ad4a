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
