export * from './errors';
export * from './task-queues';
export * from './search-attributes';
export * from './submission';
export * from './itk3-response';
export * from './delivery';
export * from './ids';
export * from './activities';
