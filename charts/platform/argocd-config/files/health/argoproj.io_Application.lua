-- Application (argoproj.io/v1alpha1): restores the health check Argo CD removed in v1.8, so that an
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
