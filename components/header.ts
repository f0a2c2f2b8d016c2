import { dump } from "js-yaml";

/** The first line of every rendered file: it says where the file comes from and where to change it. */
export const HEADER = "# Rendered by infernus from the stack config: edit the stack file, not this file.";

/** A YAML file under the header: keys in the order written, no line folding, no anchors. */
export function renderYaml(value: unknown): string {
  return `${HEADER}\n${dump(value, { lineWidth: -1, noRefs: true, sortKeys: false })}`;
}
