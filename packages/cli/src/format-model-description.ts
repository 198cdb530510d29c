/** The human-readable form of `latentkit inspect`'s report. */
import type { ComponentDescription, ModelDescription } from './model-description';

/**
 * `4_563_456` → `"4.4 MiB"`: binary units, as `ls -h` and `du -h`.
 *
 * @example
 * ```ts
 * formatBytes(3912704); // '3.7 MiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const ROLE_LABELS: Record<ComponentDescription['role'], string> = {
  unet: 'UNet',
  vae: 'VAE',
  'text-encoder': 'text encoder',
  tokenizer: 'tokenizer',
  scheduler: 'scheduler',
  other: 'other',
};

function describeClass(component: ComponentDescription): string {
  const entry = `[${component.library ?? 'null'}, ${component.className ?? 'null'}]`;
  return component.configClassName && component.configClassName !== component.className ? `${entry} ${component.configClassName}` : entry;
}

function describeDimensions(component: ComponentDescription): string {
  const entries = Object.entries(component.dimensions);
  if (entries.length === 0) return '';
  return entries.map(([key, value]) => (value === null ? `${key} ?` : `${key} ${value} (${component.sources[key] ?? 'default'})`)).join(', ');
}

/**
 * Formats the report for a terminal.
 *
 * @example
 * ```ts
 * stdout.write(formatModelDescription(await describeModelFolder(folder)));
 * ```
 */
export function formatModelDescription(description: ModelDescription): string {
  const lines: string[] = [];
  lines.push(`model     ${description.path}`);
  lines.push(`pipeline  ${description.pipelineClassName ?? '(no _class_name)'}${description.diffusersVersion ? ` (diffusers ${description.diffusersVersion})` : ''}`);
  lines.push(`size      ${formatBytes(description.bytes)} in ${description.components.reduce((n, c) => n + c.files.length, 0)} files`);
  if (description.defaultImageSize !== undefined) {
    lines.push(`image     ${description.defaultImageSize}×${description.defaultImageSize} by default (UNet sample_size × VAE scale factor)`);
  }
  if (description.emptySlots.length) lines.push(`empty     ${description.emptySlots.join(', ')}`);
  for (const component of description.components) {
    lines.push('');
    const role = ROLE_LABELS[component.role];
    lines.push(`${component.slot}${role.toLowerCase() === component.slot ? '' : ` (${role})`}  ${describeClass(component)}`);
    const files = component.files.map((f) => `${f.name} ${formatBytes(f.bytes)}`).join(', ');
    lines.push(`  files     ${files || '(none)'}${component.files.length > 1 ? `  = ${formatBytes(component.bytes)}` : ''}`);
    const dimensions = describeDimensions(component);
    if (dimensions) lines.push(`  declared  ${dimensions}`);
  }
  lines.push('');
  for (const verdict of description.verdicts) {
    const what = verdict.textEncoders.length
      ? `${verdict.textEncoders.join(' + ')}${verdict.tokenizer ? ` + ${verdict.tokenizer}` : ''}`
      : 'components';
    if (verdict.compatible) {
      const others = description.components.filter((c) => c.role === 'unet' || c.role === 'vae' || c.role === 'scheduler').map((c) => c.slot);
      lines.push(`compatible: ${[what, ...others].join(', ')} fit together`);
    } else {
      lines.push(`NOT compatible: ${what} (${verdict.problems.length} problem${verdict.problems.length === 1 ? '' : 's'})`);
      verdict.problems.forEach((p, i) => lines.push(`  ${i + 1}. ${p.message}`));
    }
  }
  for (const conflict of description.conflicts) lines.push(`NOT consistent: ${conflict}`);
  for (const note of description.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
