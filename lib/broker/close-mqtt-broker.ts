import type { Logger } from '@nestjs/common';
import type { Aedes } from 'aedes';

/** Closes a broker and then its persistence, which Aedes leaves open. */
export async function closeMqttBroker(broker: Aedes, logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  const persistence = (broker as unknown as { persistence?: { destroy?: () => Promise<void> } }).persistence;
  await persistence?.destroy?.().catch((error: Error) => logger.warn(`Closing the persistence failed: ${error.message}`));
}
