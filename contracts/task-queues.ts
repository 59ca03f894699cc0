/** Task queues, written once. */
export const DELIVERY_TASK_QUEUE = 'itk3-courier-delivery';
