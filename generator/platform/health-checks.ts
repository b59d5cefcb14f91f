/**
 * Argo CD custom health checks (argocd-cm `resource.customizations.health.<group>_<kind>`), in Lua.
 * Each returns Progressing while a resource is starting normally (models load weights for minutes) and
 * Degraded only for conditions that do not clear by waiting, because Degraded fails the sync wave.
 * They use only the Lua base library (Argo CD does not open the others unless told to).
 */
export interface HealthCheck {
  /** `<group>_<kind>`, the argocd-cm key suffix. */
  readonly key: string;
  readonly description: string;
  readonly lua: string;
}

const INFERENCE_POOL = `-- InferencePool (inference.networking.k8s.io/v1): healthy once a parent Gateway accepts it.
local function progressing(message)
  return {status = "Progressing", message = message}
end
if obj.status == nil or obj.status.parents == nil or #obj.status.parents == 0 then
  return progressing("Waiting for a Gateway to reference the InferencePool")
end
local generation = obj.metadata.generation or 0
local accepted = 0
for _, parent in ipairs(obj.status.parents) do
  local name = "?"
  if parent.parentRef ~= nil and parent.parentRef.name ~= nil then name = parent.parentRef.name end
  for _, condition in ipairs(parent.conditions or {}) do
    local current = condition.observedGeneration == nil or condition.observedGeneration >= generation
    if current and condition.status == "False" and (condition.type == "Accepted" or condition.type == "ResolvedRefs") then
      return {status = "Degraded", message = name .. ": " .. condition.type .. "=False " .. (condition.reason or "") .. ": " .. (condition.message or "")}
    end
    if current and condition.type == "Accepted" and condition.status == "True" then accepted = accepted + 1 end
  end
end
if accepted > 0 then
  return {status = "Healthy", message = "Accepted by " .. accepted .. " parent(s)"}
end
return progressing("Waiting for a parent Gateway to accept the InferencePool")
`;

const LEADER_WORKER_SET = `-- LeaderWorkerSet (leaderworkerset.x-k8s.io/v1): healthy when every group is updated, ready and Available.
if obj.status == nil then
  return {status = "Progressing", message = "Waiting for status"}
end
if (obj.status.observedGeneration or 0) < (obj.metadata.generation or 0) then
  return {status = "Progressing", message = "Spec change not yet observed"}
end
local want = 1
if obj.spec ~= nil and obj.spec.replicas ~= nil then want = obj.spec.replicas end
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "UpdateInProgress" and condition.status == "True" then
    return {status = "Progressing", message = condition.message or "Rolling update in progress"}
  end
end
local ready = obj.status.readyReplicas or 0
if (obj.status.updatedReplicas or 0) < want or ready < want then
  return {status = "Progressing", message = ready .. "/" .. want .. " groups ready"}
end
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Available" and condition.status == "True" then
    return {status = "Healthy", message = "All " .. want .. " groups available"}
  end
end
return {status = "Progressing", message = "Waiting for the Available condition"}
`;

const LLM_INFERENCE_SERVICE = `-- LLMInferenceService (serving.kserve.io v1alpha1/v1alpha2): Ready=False is normal while pods load;
-- only reasons that waiting cannot fix are Degraded.
local terminal = {
  ConfigNotFound = true, CombineBaseError = true, InvalidRenderedConfig = true,
  ProgressDeadlineExceeded = true, ScalingCRDNotFound = true,
}
if obj.status == nil or obj.status.conditions == nil then
  return {status = "Progressing", message = "Waiting for status"}
end
if obj.status.observedGeneration ~= nil and obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation then
  return {status = "Progressing", message = "Spec change not yet observed"}
end
local ready = nil
for _, condition in ipairs(obj.status.conditions) do
  local reason = condition.reason or ""
  if condition.status == "False" and terminal[reason] then
    return {status = "Degraded", message = condition.type .. ": " .. reason .. " " .. (condition.message or "")}
  end
  if reason == "Stopped" then
    return {status = "Suspended", message = "Stopped by annotation"}
  end
  if condition.type == "Ready" then ready = condition end
end
if ready ~= nil and ready.status == "True" then
  return {status = "Healthy", message = "Ready"}
end
if ready ~= nil then
  return {status = "Progressing", message = (ready.reason or "NotReady") .. " " .. (ready.message or "")}
end
return {status = "Progressing", message = "Waiting for the Ready condition"}
`;

const APPLICATION = `-- Application (argoproj.io/v1alpha1): restores the health check Argo CD removed in v1.8, so that an
-- app-of-apps waits, wave by wave, until each child Application is synced and healthy.
if obj.status == nil or obj.status.health == nil then
  return {status = "Progressing", message = "Waiting for the first reconciliation"}
end
local health = obj.status.health.status or "Unknown"
local message = obj.status.health.message or ""
if health == "Degraded" or health == "Suspended" then
  return {status = health, message = message}
end
if obj.status.operationState ~= nil then
  local phase = obj.status.operationState.phase
  if phase == "Running" or phase == "Terminating" then
    return {status = "Progressing", message = "Sync " .. phase}
  end
end
if obj.status.sync == nil or obj.status.sync.status ~= "Synced" then
  return {status = "Progressing", message = "Waiting for sync"}
end
if health == "Healthy" then
  return {status = "Healthy", message = message}
end
return {status = "Progressing", message = health .. " " .. message}
`;

export const HEALTH_CHECKS: readonly HealthCheck[] = [
  { key: 'argoproj.io_Application', description: 'child Applications of the app-of-apps', lua: APPLICATION },
  {
    key: 'inference.networking.k8s.io_InferencePool',
    description: 'InferencePools accepted by the shared Gateway',
    lua: INFERENCE_POOL,
  },
  {
    key: 'leaderworkerset.x-k8s.io_LeaderWorkerSet',
    description: 'multi-node model workloads',
    lua: LEADER_WORKER_SET,
  },
  {
    key: 'serving.kserve.io_LLMInferenceService',
    description: 'kserve-mode models',
    lua: LLM_INFERENCE_SERVICE,
  },
];
