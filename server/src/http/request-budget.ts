import type { RequestHandler } from 'express';
import type { Limit } from '../live/rate-limits';
import { clientAddress } from './client-address';

/**
 * Every API request spends one point of its address's budget before any route reads a body or
 * the database: whatever else a route limits (sign-ins, comments, sessions), no address can make a
 * node do unbounded work by asking for it fast. Health and readiness are outside it: load
 * balancers ask for them from one address, and they cost nothing.
 */
export function requestBudget(perAddress: Limit): RequestHandler {
  return (req, _res, next) => {
    perAddress.take(clientAddress(req)).then(() => next(), next);
  };
}
