//! Clients for the clouds cloudlink manages: Keystone v3, Nova os-cloudpipe, ECL provider-connectivity and SSS.
