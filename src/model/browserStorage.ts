import { IStorageLike } from '../logic/storage';

/** The browser's localStorage, or a memory-only stand-in where it is unavailable. */
export function browserStorage(): IStorageLike {
  try {
    return window.localStorage;
  } catch {
    const map = new Map<string, string>();
    return {
      getItem: k => map.get(k) ?? null,
      setItem: (k, v) => void map.set(k, v),
      removeItem: k => void map.delete(k)
    };
  }
}
