"""The player pages: one video, a playlist played in order, or a livestream; adaptive HLS with a quality
menu, MP4 where there is no HLS, first-party analytics and client-side webhooks."""
