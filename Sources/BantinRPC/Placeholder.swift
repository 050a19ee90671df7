public enum RPCPlaceholder {}
