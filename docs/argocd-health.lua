-- Argo CD health check for cloudlink's kinds (every kind in the cloudlink.dev group).
-- Install it in argocd-cm for every kind (docs/gitops.md shows how). Argo CD runs it with the live
-- object in `obj` and reads the table it returns: {status = Healthy|Progressing|Degraded|Suspended, message}.
--
-- It follows the same rules as kstatus (what Flux uses), in the same order, after one of its own:
--   Paused=True (annotation cloudlink.dev/paused)      -> Suspended (kstatus has no such state: it
--                                                         shows the last reconcile's result)
--   deleting                                          -> Progressing ("Pending deletion")
--   status.observedGeneration ~= metadata.generation  -> Progressing (the change is not yet observed)
--   Reconciling=True                                  -> Progressing
--   Stalled=True                                      -> Degraded (the message says what to fix)
--   Ready=True                                        -> Healthy
--   Ready=False or Unknown                            -> Progressing
-- and, unlike kstatus, an object without status at all is Progressing: cloudlink has not seen it yet.

-- A TenantConnectionRequest is Ready once the cloud has registered it; the network owner's approval
-- follows in the condition Approved (False, reason AwaitingApproval, until they decide). What Argo CD
-- should show meanwhile: "Healthy" (the requester's part is done; the default), "Progressing" (the
-- Application stays Progressing until approval, and a sync with a health wait waits for it) or
-- "Suspended" (shown as paused: waiting for someone else).
local awaitingApproval = "Healthy"

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then
      text = text .. ": "
    end
    text = text .. c.message
  end
  return text
end

local hs = {}
local metadata = obj.metadata or {}

local paused = condition((obj.status or {}).conditions, "Paused")
if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(paused)
  return hs
end

if metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for cloudlink to observe the object"
  return hs
end

if metadata.generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= metadata.generation then
  hs.status = "Progressing"
  hs.message = string.format("Generation %d is not yet observed (observed: %d)", metadata.generation, status.observedGeneration)
  return hs
end

-- kstatus looks at Reconciling and Stalled in the order of the list; cloudlink never sets both.
for _, c in ipairs(status.conditions or {}) do
  if c.type == "Reconciling" and c.status == "True" then
    hs.status = "Progressing"
    hs.message = describe(c)
    return hs
  end
  if c.type == "Stalled" and c.status == "True" then
    hs.status = "Degraded"
    hs.message = describe(c)
    return hs
  end
end

local ready = condition(status.conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status ~= "True" then
  hs.status = "Progressing"
  hs.message = describe(ready)
  return hs
end

local approved = condition(status.conditions, "Approved")
if approved ~= nil and approved.status ~= "True" and approved.reason == "AwaitingApproval" then
  hs.status = awaitingApproval
  hs.message = describe(approved)
  return hs
end

hs.status = "Healthy"
hs.message = describe(ready)
return hs
