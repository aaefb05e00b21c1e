export * from './describe-issues';
export * from './errors';
export * from './events';
export * from './paths';
export * from './routes';
export * from './schemas';
export * from './types';
export * from './text';
