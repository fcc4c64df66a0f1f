import { z } from 'zod';

/** Request timestamps: epoch seconds as numbers (fractions allowed) or numeric strings (reference §4.1). */
export const epochInput = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).pipe(z.number().finite().nonnegative());

/** Epoch seconds for responses, at most millisecond precision. */
export const toEpoch = (s: number) => Math.round(s * 1000) / 1000;
