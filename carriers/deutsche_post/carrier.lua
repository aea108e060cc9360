-- Deutsche Post / DHL (Germany): the piece-shipment-list tracking API
-- ("Sendungsverfolgung") for Deutsche Post DHL business customers. The former
-- CIG endpoint (cig.dhl.de) now lives on the DHL API gateway as the Parcel DE
-- Tracking API; the reading of its XML is shared with dhl_parcel_de
-- (carriers/_lib/dhl_piece_list.lua).
-- This carrier reports the ICE code (DHL's group-wide event code: SHRCU, LDTMV,
-- DLVRD...) as the event code and keeps the events in the order the API lists
-- them (oldest first), as the Deutsche Post DHL integrations recorded.
local piece_list = carriers.library("dhl_piece_list")

return piece_list{
  id = "deutsche_post",
  name = "Deutsche Post DHL",
  tracking_url = "https://www.deutschepost.de/de/s/sendungsverfolgung.html?piececode={code}",
  code_field = "ice",
  newest_first = false,
}
