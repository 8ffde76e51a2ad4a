/**
 * The signed-in session: the admin token and the chosen workspace, kept in localStorage so a
 * reload keeps you signed in. Components subscribe with `useSession()`.
 */
import { useSyncExternalStore } from 'react'

const TOKEN_KEY = 'kindred.adminToken'
const WORKSPACE_KEY = 'kindred.workspace'

export interface Session {
  token: string | null
  workspaceId: string | null
}

const listeners = new Set<() => void>()
let current: Session = read()

function read(): Session {
  try {
    return {
      token: localStorage.getItem(TOKEN_KEY),
      workspaceId: localStorage.getItem(WORKSPACE_KEY),
    }
  } catch {
    return { token: null, workspaceId: null }
  }
}

function write(next: Session): void {
  current = next
  try {
    if (next.token) localStorage.setItem(TOKEN_KEY, next.token)
    else localStorage.removeItem(TOKEN_KEY)
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
  write({ token, workspaceId })
}

export function signOut(): void {
  write({ token: null, workspaceId: null })
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
