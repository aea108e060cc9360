-- DHL Paket (Post & Parcel Germany): Parcel DE Tracking API.
-- The reading of the piece-shipment-list XML is shared with deutsche_post
-- (carriers/_lib/dhl_piece_list.lua). DHL Paket's own status code is
-- `standard-event-code` (ES, AA, ZU...); the API lists events oldest first and
-- this carrier returns them newest first.
local piece_list = carriers.library("dhl_piece_list")

return piece_list{
  id = "dhl_parcel_de",
  name = "DHL Paket (Germany)",
  tracking_url = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={code}",
  code_field = "standard-event-code",
  newest_first = true,
}
