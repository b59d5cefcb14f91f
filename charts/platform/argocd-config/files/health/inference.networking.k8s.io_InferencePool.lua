-- InferencePool (inference.networking.k8s.io/v1): healthy once a parent Gateway accepts it.
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
