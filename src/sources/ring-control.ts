/**
 * The Int32Array a read pool shares with each read worker (ReadWorkerData.control), by index: a
 * module of its own, which both threads import (read-worker.ts runs as a worker when imported).
 * [RELEASED]: how many of the worker's ring files the main thread has released (in order; it
 * notifies); [CLOSING]: 1 when the pool closes (a worker waiting for room stops waiting).
 */
export const RELEASED = 0;
export const CLOSING = 1;
