/**
 * Claims on a sweep folder's work, so that several processes on one folder (two terminals, overlapping array
 * jobs) divide the units instead of each computing all of them. A claim is an exclusive lock (flock) on
 * `claims/<unit id>.lock`: the operating system drops it when its process ends, however it ends, so a claim of
 * a killed process never blocks a rerun. The file records who holds it (pid, time), for a person looking; it
 * is never deleted while in use, because a process could otherwise lock a removed file's inode and believe
 * it held a claim another process holds too.
 */
import { dirname, join } from "node:path";

/** A held claim; release() unlocks it. */
export interface Claim {
  path: string;
  release(): Promise<void>;
}

/** The claim file of `name` (a unit id, or "merge") in sweep folder `out`. */
export function claimPath(out: string, name: string): string {
  return join(out, "claims", `${name}.lock`);
}

/** Claims `name` in `out`: the claim, or null when another live process holds it. */
export async function tryClaim(out: string, name: string): Promise<Claim | null> {
  const path = claimPath(out, name);
  await Deno.mkdir(dirname(path), { recursive: true });
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } finally {
    if (!locked) file.close();
  }
  if (!locked) return null;
  await file.truncate(0);
  await file.write(
    new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() })),
  );
  return {
    path,
    async release() {
      try {
        await file.unlock();
      } finally {
        file.close();
      }
    },
  };
}
