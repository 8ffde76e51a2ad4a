/**
 * The signed-in session: an admin token (or a flag saying the server's HttpOnly session cookie
 * signs us in) and the chosen workspace, kept in localStorage so a reload keeps you signed in.
 * Components subscribe with `useSession()`.
 */
import { useSyncExternalStore } from 'react'

const TOKEN_KEY = 'kindred.adminToken'
const WORKSPACE_KEY = 'kindred.workspace'
const COOKIE_KEY = 'kindred.cookieSession'

export interface Session {
  token: string | null
  /** Signed in with e-mail and password: the session lives in an HttpOnly cookie we cannot read. */
  cookie: boolean
  workspaceId: string | null
}

const listeners = new Set<() => void>()
let current: Session = read()

function read(): Session {
  try {
    return {
      token: localStorage.getItem(TOKEN_KEY),
      cookie: localStorage.getItem(COOKIE_KEY) === '1',
      workspaceId: localStorage.getItem(WORKSPACE_KEY),
    }
  } catch {
    return { token: null, cookie: false, workspaceId: null }
  }
}

function write(next: Session): void {
  current = next
  try {
    if (next.token) localStorage.setItem(TOKEN_KEY, next.token)
    else localStorage.removeItem(TOKEN_KEY)
    if (next.cookie) localStorage.setItem(COOKIE_KEY, '1')
    else localStorage.removeItem(COOKIE_KEY)
    if (next.workspaceId) localStorage.setItem(WORKSPACE_KEY, next.workspaceId)
    else localStorage.removeItem(WORKSPACE_KEY)
  } catch {
    // Private mode without storage: the session lives in memory only.
  }
  for (const listener of listeners) listener()
}

export function getSession(): Session {
  return current
}

export function signIn(token: string, workspaceId: string | null): void {
  write({ token, cookie: false, workspaceId })
}

export function signInWithCookie(workspaceId: string | null): void {
  write({ token: null, cookie: true, workspaceId })
}

export function signOut(): void {
  write({ token: null, cookie: false, workspaceId: null })
}

export function isSignedIn(session: Session): boolean {
  return session.token !== null || session.cookie
}

export function setWorkspace(workspaceId: string): void {
  write({ ...current, workspaceId })
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function useSession(): Session {
  return useSyncExternalStore(subscribe, getSession, getSession)
}
