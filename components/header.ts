/** The first line of every rendered file: it says where the file comes from and where to change it. */
export const HEADER = "# Rendered by infernus from the stack config: edit the stack file, not this file.";
