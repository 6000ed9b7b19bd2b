// Following an incident while the CLI waits for its outcome: the view is read every 200 ms and handed
// over, until the outcome (or the deadline) settles. Progress only: the outcome comes from the update.
const FOLLOW_INTERVAL_MS = 200;

export async function followUntilSettled<T>(read: () => Promise<T>, finished: Promise<unknown>, onView: (view: T) => void): Promise<void> {
  let settled = false;
  const over = finished.then(
    () => void (settled = true),
    () => void (settled = true),
  );
  while (!settled) {
    try {
      // A query waits for a worker; never let it outlast the outcome or the deadline.
      const view = await Promise.race([read(), over]);
      if (view === undefined) break;
      onView(view);
    } catch {
      // No worker has picked the incident up yet.
    }
    await Promise.race([over, new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS))]);
  }
}
