/** A server's serving plan from its stack-config entry: the catalogue looked up, then the planner. */
import type { ServerConfig } from "../config/schema";
import { gpuSpecOf } from "../gpu/catalogue";
import { nvidiaGpus } from "../gpu/files";
import { MODEL_CATALOGUE } from "./catalogue";
import type { Problem } from "../config/problems";
import { planServing, type PlannerModel, type ServingPlan } from "./planner";

export function servingPlan(server: ServerConfig, serverPath: string): ServingPlan {
  const unknown: Problem[] = [];
  const models = server.models.flatMap((model, i): PlannerModel[] => {
    const spec = MODEL_CATALOGUE[model.name];
    const configPath = `${serverPath}.models[${i}]`;
    if (!spec) {
      unknown.push({ path: `${configPath}.name`, value: model.name, message: `not in the model catalogue (${Object.keys(MODEL_CATALOGUE).join(", ")})` });
      return [];
    }
    return [{ name: model.name, spec, maxModelLen: model.maxModelLen ?? spec.maxContext, kvCacheDtype: model.kvCacheDtype, gpuMemoryUtilization: model.gpuMemoryUtilization, configPath }];
  });
  if (unknown.length > 0) return { gpus: [], models: [], sets: [], problems: unknown };
  const gpus = nvidiaGpus(server).map((gpu, index) => ({ index, name: gpuSpecOf(gpu).marketingName, memoryGiB: gpuSpecOf(gpu).memoryGiB }));
  return planServing(gpus, models);
}
