import { AlertRejection } from '../../core/alert';

/** The AlertRejection a parser or verifier throws; fails the test if it throws nothing or something else. */
export function rejection(fn: () => unknown): AlertRejection {
  try {
    fn();
  } catch (err) {
    if (err instanceof AlertRejection) return err;
    throw err;
  }
  throw new Error('expected an AlertRejection');
}
