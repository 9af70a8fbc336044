"""MongoDB: leads and call logs (Beanie 2 over PyMongo's AsyncMongoClient)."""

from datasources.mongo.client import Mongo, open_mongo

__all__ = ["Mongo", "open_mongo"]
