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

const timeLabel = (value: number | string) =>
  new Date(value).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  })

/**
 * Time axes label their ticks and the tooltip's axis value as dates and times; left to itself the
 * axis pointer showed raw epoch milliseconds. Applied to every chart here, so no page has to
 * remember; a page's own formatter wins.
 */
function withTimeLabels(option: EChartsOption): EChartsOption {
  const axis = option.xAxis
  if (axis === undefined || Array.isArray(axis) || axis.type !== 'time') return option
  return {
    ...option,
    xAxis: {
      ...axis,
      axisLabel: { hideOverlap: true, formatter: (v: number) => timeLabel(v), ...axis.axisLabel },
      axisPointer: {
        ...axis.axisPointer,
        label: {
          formatter: (p: { value: unknown }) => timeLabel(Number(p.value)),
          ...axis.axisPointer?.label,
        },
      },
    },
  }
}

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
        option={{ color: palette, animationDuration: 300, ...withTimeLabels(option) }}
        style={{ height, width: '100%' }}
        notMerge
        opts={{ renderer: 'svg' }}
      />
    </Box>
  )
}
