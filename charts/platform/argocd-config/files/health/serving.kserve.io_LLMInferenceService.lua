-- LLMInferenceService (serving.kserve.io v1alpha1/v1alpha2): Ready=False is normal while pods load;
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
