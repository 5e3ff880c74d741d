/**
 * Which stream processors a config runs, each with its role and its settings: the one answer the
 * CDK stack (`lib/sluice-stack.ts`) and local mode (`local/pipeline.ts`) both deploy.
 *
 * With `alertProcessor.enabled` and at least one per-event (`source: "value"`) rule, two event source
 * mappings read the same stream: the aggregate processor (`processor`, role `aggregates`) and the
 * alert processor (`alertProcessor`, role `alerts`). Otherwise the aggregate processor alone runs
 * every rule (role `all`): an alert processor without value rules would read every record for
 * nothing.
 */
import type { ProcessorRole } from '../core/speed-config';
import type { ProcessorConfig, ProcessorSection, SluiceConfig } from './config';

export interface SpeedProcessorPlan {
  /** The config section of its settings (and of its parallelization factor). */
  readonly section: ProcessorSection;
  readonly role: ProcessorRole;
  readonly settings: ProcessorConfig;
}

/** True when the config runs an alert processor beside the aggregate processor. */
export function runsAlertProcessor(config: SluiceConfig): boolean {
  return config.alertProcessor.enabled && config.alertRules.some((rule) => rule.source === 'value');
}

/** The stream processors of `config`: the aggregate processor first, then the alert processor if any. */
export function speedProcessors(config: SluiceConfig): readonly SpeedProcessorPlan[] {
  if (!runsAlertProcessor(config)) return [{ section: 'processor', role: 'all', settings: config.processor }];
  return [
    { section: 'processor', role: 'aggregates', settings: config.processor },
    { section: 'alertProcessor', role: 'alerts', settings: config.alertProcessor },
  ];
}
