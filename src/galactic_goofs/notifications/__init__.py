"""Notifications: signed webhooks to the endpoints admins register.

`service` owns the endpoints and the delivery log, `dispatch` turns events into deliveries (a
durable consumer holding a lease) and sends them, `ssrf` keeps the sender off private networks.
"""
