/** ECharts through echarts-for-react, with one look for every chart of the console. */
import { Box } from '@mantine/core'
import { BarChart, LineChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import * as echarts from 'echarts/core'
import { SVGRenderer } from 'echarts/renderers'
import type { EChartsOption } from 'echarts'
import ReactEChartsCoreModule from 'echarts-for-react/lib/core.js'
import type { ComponentType, CSSProperties } from 'react'

// Only the chart types the console draws: keeps ECharts' share of the bundle small.
echarts.use([
  LineChart,
  BarChart,
  PieChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  SVGRenderer,
])

// Under NodeNext the CommonJS typings expose the class as `.default`; Vite loads the ES module.
const ReactEChartsCore = ((ReactEChartsCoreModule as unknown as { default?: unknown }).default ??
  ReactEChartsCoreModule) as ComponentType<{
  echarts: typeof echarts
  option: EChartsOption
  style?: CSSProperties
  notMerge?: boolean
  opts?: { renderer?: 'canvas' | 'svg' }
}>

export const palette = [
  '#4c6ef5',
  '#12b886',
  '#fab005',
  '#fa5252',
  '#be4bdb',
  '#15aabf',
  '#fd7e14',
  '#82c91e',
]

export function Chart({
  option,
  height = 260,
  testId,
}: {
  option: EChartsOption
  height?: number
  testId?: string
}) {
  return (
    <Box data-testid={testId}>
      <ReactEChartsCore
        echarts={echarts}
        option={{ color: palette, animationDuration: 300, ...option }}
        style={{ height, width: '100%' }}
        notMerge
        opts={{ renderer: 'svg' }}
      />
    </Box>
  )
}
