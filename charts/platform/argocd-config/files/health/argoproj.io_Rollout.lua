-- Rollout (argoproj.io/v1alpha1): a canary waiting at a pause step, on an inconclusive analysis or paused by hand
-- is Suspended (it needs a promotion or a look); an aborted update or a missed progress deadline is Degraded.
if obj.status == nil then
  return {status = "Progressing", message = "Waiting for status"}
end
local generation = obj.metadata.generation
if obj.status.observedGeneration ~= nil and generation ~= nil
    and tostring(obj.status.observedGeneration) ~= tostring(generation) then
  return {status = "Progressing", message = "Spec change not yet observed"}
end
if obj.status.abort then
  return {status = "Degraded", message = obj.status.message or "Update aborted"}
end
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded" then
    return {status = "Degraded", message = condition.message or "Progress deadline exceeded"}
  end
end
local reasons = {}
for _, pause in ipairs(obj.status.pauseConditions or {}) do
  table.insert(reasons, pause.reason or "Paused")
end
if (obj.spec ~= nil and obj.spec.paused) or #reasons > 0 or obj.status.phase == "Paused" then
  local message = "Paused"
  if #reasons > 0 then message = "Paused: " .. table.concat(reasons, ", ") end
  return {status = "Suspended", message = message}
end
if obj.status.phase == "Degraded" then
  return {status = "Degraded", message = obj.status.message or "Degraded"}
end
if obj.status.phase == "Healthy" then
  return {status = "Healthy", message = obj.status.message or "Rollout is healthy"}
end
return {status = "Progressing", message = obj.status.message or "Rollout is progressing"}
