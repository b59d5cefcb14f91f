-- LeaderWorkerSet (leaderworkerset.x-k8s.io/v1): healthy when every group is updated, ready and Available.
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
