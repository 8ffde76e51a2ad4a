/**
 * The install snippets of a source, each with a copy button: the website `<script>` snippet first
 * (no bundler: Kindred serves analytics.js), then analytics.js from npm, curl and analytics-node.
 */
import { Tabs } from '@mantine/core'
import { sourceSnippets } from '../lib/snippets.js'
import { CopyField } from './copy-field.js'

export function InstallSnippets({ writeKey }: { writeKey: string }) {
  const snippets = sourceSnippets(window.location.origin, writeKey)
  return (
    <Tabs defaultValue="script" keepMounted={false} data-testid="install-snippets">
      <Tabs.List>
        <Tabs.Tab value="script">Website (script tag)</Tabs.Tab>
        <Tabs.Tab value="browser">Browser (analytics.js from npm)</Tabs.Tab>
        <Tabs.Tab value="curl">curl</Tabs.Tab>
        <Tabs.Tab value="node">Node (analytics-node)</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="script" pt="sm">
        <CopyField
          label="Paste before </head> (Segment's classic snippet, served by this server)"
          value={snippets.script}
          block
          testId="snippet-script"
        />
      </Tabs.Panel>
      <Tabs.Panel value="curl" pt="sm">
        <CopyField label="Send a test event" value={snippets.curl} block testId="snippet-curl" />
      </Tabs.Panel>
      <Tabs.Panel value="node" pt="sm">
        <CopyField
          label="@segment/analytics-node"
          value={snippets.node}
          block
          testId="snippet-node"
        />
      </Tabs.Panel>
      <Tabs.Panel value="browser" pt="sm">
        <CopyField
          label="@segment/analytics-next"
          value={snippets.browser}
          block
          testId="snippet-browser"
        />
      </Tabs.Panel>
    </Tabs>
  )
}
