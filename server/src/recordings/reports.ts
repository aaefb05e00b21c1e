/**
 * What the main process and the worker recording a stream say to each other about it: plain
 * data, imported by both sides.
 */

/** Where (and whether) a stream is recorded, given to the worker taking its publisher. */
export interface RecordingPlan {
  /** The recordings directory (every stream has its own directory in it). */
  root: string;
  /** Keep the recording once the stream ends; otherwise only live HLS is packaged. */
  keep: boolean;
}

/** What a recorder reports: it began (or progressed), stopped on an error, or finished. */
export type RecordingReport =
  | { state: 'recording'; durationSeconds: number; bytes: number }
  | { state: 'failed'; error: string; durationSeconds: number; bytes: number }
  | { state: 'finished'; durationSeconds: number; bytes: number };
