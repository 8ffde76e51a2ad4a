/** The API path of a profile (or of one of its sub-resources). */
export const profilePath = (id: string, rest = '') => `/profiles/${encodeURIComponent(id)}${rest}`
