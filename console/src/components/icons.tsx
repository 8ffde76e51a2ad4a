/**
 * A handful of line icons as inline SVG (24×24, stroke = currentColor), so the console needs no
 * icon font and renders the same on machines without emoji fonts.
 */
import type { SVGProps } from 'react'

const paths = {
  dashboard: ['M4 4h6v8H4z', 'M14 4h6v5h-6z', 'M14 13h6v7h-6z', 'M4 16h6v4H4z'],
  sources: [
    'M4 13h3l3 3h4l3-3h3',
    'M4 13V6a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v7v5a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2z',
    'M12 7v6',
    'M9.5 10.5 12 13l2.5-2.5',
  ],
  profiles: ['M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M5 21v-2a5 5 0 0 1 5-5h4a5 5 0 0 1 5 5v2'],
  segments: [
    'M12 12m-1 0a1 1 0 1 0 2 0a1 1 0 1 0-2 0',
    'M12 12m-5 0a5 5 0 1 0 10 0a5 5 0 1 0-10 0',
    'M12 12m-9 0a9 9 0 1 0 18 0a9 9 0 1 0-18 0',
  ],
  computed: [
    'M5 3h14a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1z',
    'M8 7h8',
    'M8 12h.01',
    'M12 12h.01',
    'M16 12h.01',
    'M8 16h.01',
    'M12 16h.01',
    'M16 16h.01',
  ],
  destinations: ['M10 14 21 3', 'M21 3l-6.5 18a.55.55 0 0 1-1 0L10 14l-7-3.5a.55.55 0 0 1 0-1z'],
  search: ['M10 10m-7 0a7 7 0 1 0 14 0a7 7 0 1 0-14 0', 'M21 21l-6-6'],
  puzzle: [
    'M4 7h3a1 1 0 0 0 1-1V5a2 2 0 0 1 4 0v1a1 1 0 0 0 1 1h3a1 1 0 0 1 1 1v3a1 1 0 0 0 1 1h1a2 2 0 0 1 0 4h-1a1 1 0 0 0-1 1v3a1 1 0 0 1-1 1h-3a1 1 0 0 1-1-1v-1a2 2 0 0 0-4 0v1a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-3a1 1 0 0 1 1-1h1a2 2 0 0 0 0-4H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1',
  ],
  sparkles: [
    'M16 18a2 2 0 0 1 2 2a2 2 0 0 1 2-2a2 2 0 0 1-2-2a2 2 0 0 1-2 2z',
    'M16 6a2 2 0 0 1 2 2a2 2 0 0 1 2-2a2 2 0 0 1-2-2a2 2 0 0 1-2 2z',
    'M9 18a6 6 0 0 1 6-6a6 6 0 0 1-6-6a6 6 0 0 1-6 6a6 6 0 0 1 6 6z',
  ],
  radar: [
    'M12 12m-1 0a1 1 0 1 0 2 0a1 1 0 1 0-2 0',
    'M16.24 7.76a6 6 0 0 1 0 8.49',
    'M7.76 16.24a6 6 0 0 1 0-8.49',
    'M19.07 4.93a10 10 0 0 1 0 14.14',
    'M4.93 19.07a10 10 0 0 1 0-14.14',
  ],
  settings: [
    'M4 21v-7',
    'M4 10V3',
    'M12 21v-9',
    'M12 8V3',
    'M20 21v-5',
    'M20 12V3',
    'M1 14h6',
    'M9 8h6',
    'M17 16h6',
  ],
  shield: ['M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z', 'M9 12l2 2 4-4'],
  clock: ['M12 12m-9 0a9 9 0 1 0 18 0a9 9 0 1 0-18 0', 'M12 7v5l3 3'],
  link: [
    'M9 15l6-6',
    'M11 6l.46-.54a5 5 0 0 1 7.07 7.07L18 13',
    'M13 18l-.4.53a5.07 5.07 0 0 1-7.12 0a4.97 4.97 0 0 1 0-7.07L6 11',
  ],
  inbox: ['M4 4h16v16H4z', 'M4 13h4l2 3h4l2-3h4'],
  rocket: [
    'M4 13a8 8 0 0 1 7 7a6 6 0 0 0 3-5a9 9 0 0 0 6-8a3 3 0 0 0-3-3a9 9 0 0 0-8 6a6 6 0 0 0-5 3',
    'M7 14a6 6 0 0 0-3 6a6 6 0 0 0 6-3',
    'M15 9m-1 0a1 1 0 1 0 2 0a1 1 0 1 0-2 0',
  ],
  book: [
    'M3 19a9 9 0 0 1 9 0a9 9 0 0 1 9 0',
    'M3 6a9 9 0 0 1 9 0a9 9 0 0 1 9 0',
    'M3 6v13',
    'M12 6v13',
    'M21 6v13',
  ],
} as const

export type IconName = keyof typeof paths

export function Icon({
  name,
  size = 18,
  ...rest
}: { name: IconName; size?: number } & SVGProps<SVGSVGElement>) {
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden
      {...rest}
    >
      {paths[name].map((d) => (
        <path key={d} d={d} />
      ))}
    </svg>
  )
}
