import type { ModuleFactory } from './module.js'

/** Destinations and the dispatcher: wired by the activation work (issue 5). */
export const destinationsModule: ModuleFactory = () => ({ name: 'destinations' })
