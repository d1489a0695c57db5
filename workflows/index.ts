// Every workflow the worker runs. Workflow code is deterministic: see eslint.config.mjs for what it may import.
export * from './health-check';
export * from './connection-check';
export * from './invoice';
export * from './poll';
export * from './tax';
export * from './onboarding';
export * from './clients-materials';
export * from './clients-materials-read';
export * from './payments';
