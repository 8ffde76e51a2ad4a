/**
 * A small fetch wrapper for the admin API: adds the bearer token and workspace header, turns
 * `{ error: { code, message, details } }` answers into `ApiError`s whose message is shown as is.
 */
import { getSession, signOut } from './session.js'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }

  /** True when the endpoint does not exist in this server version (or the resource is gone). */
  get notFound(): boolean {
    return this.status === 404
  }
}

export interface RequestOptions {
  method?: string
  body?: unknown
  query?: Record<string, string | number | undefined | null>
  /** A file sent as it is (an import's upload) instead of a JSON body. */
  file?: Blob
  /** Use this token instead of the stored one (sign-in checks a token before keeping it). */
  token?: string
  signal?: AbortSignal
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const qs = params.toString()
  return `/api/v1${path}${qs ? `?${qs}` : ''}`
}

/** The headers every admin request carries: the token (or the session cookie's CSRF marker) and workspace. */
function requestHeaders(options: Pick<RequestOptions, 'token' | 'body' | 'file'>) {
  const session = getSession()
  const token = options.token ?? session.token
  // The server accepts its session cookie for changes only with this header (CSRF defence).
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-kindred-client': 'console',
  }
  if (token) headers.authorization = `Bearer ${token}`
  if (session.workspaceId && !options.token) headers['x-kindred-workspace'] = session.workspaceId
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  else if (options.file !== undefined) headers['content-type'] = 'application/octet-stream'
  return headers
}

/** Saves what a GET answers as a file in the browser's downloads (exports, rejects files). */
export async function downloadFile(path: string, fileName: string): Promise<void> {
  const res = await fetch(apiUrl(path), {
    headers: requestHeaders({}),
    credentials: 'same-origin',
  })
  if (!res.ok)
    throw new ApiError(
      res.status,
      `HTTP_${res.status}`,
      `The file could not be downloaded (${res.status}).`,
    )
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const session = getSession()
  const headers = requestHeaders(options)
  let response: Response
  try {
    response = await fetch(apiUrl(path, options.query), {
      method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : options.file,
      signal: options.signal,
      credentials: 'same-origin',
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, 'NETWORK', 'Cannot reach the Kindred server. Is it running?')
  }
  const text = await response.text()
  let body: unknown = null
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: unknown } })
      ?.error
    const message =
      error?.message ??
      (response.status === 404
        ? 'Not available in this version yet.'
        : `The server answered ${response.status} ${response.statusText}.`)
    // A stored token that stopped working (rotated, wrong server): go back to sign-in.
    if (response.status === 401 && !options.token && (session.token || session.cookie)) signOut()
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      message,
      error?.details,
    )
  }
  return body as T
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}
