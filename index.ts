import { stackOutputs } from "./components/outputs";
import { declareEstate } from "./components/program";

// The module's exports are the stack outputs (components/outputs.ts documents each); `export =`
// leaves out the ones this stack does not have, rather than exporting them as undefined.
export = stackOutputs(declareEstate());
