/** The install snippets of a source (curl, analytics-node, analytics.js), each with a copy button. */
import { Tabs } from '@mantine/core'
import { sourceSnippets } from '../lib/snippets.js'
import { CopyField } from './copy-field.js'

export function InstallSnippets({ writeKey }: { writeKey: string }) {
  const snippets = sourceSnippets(window.location.origin, writeKey)
  return (
    <Tabs defaultValue="curl" keepMounted={false} data-testid="install-snippets">
      <Tabs.List>
        <Tabs.Tab value="curl">curl</Tabs.Tab>
        <Tabs.Tab value="node">Node (analytics-node)</Tabs.Tab>
        <Tabs.Tab value="browser">Browser (analytics.js)</Tabs.Tab>
      </Tabs.List>
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
