from django.core.cache import caches


def test_cache_reuses_one_redis_client_per_pool():
    backend = caches["routing"]
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=True) is client
    backend.set("cache-test-key", 42, 5)
    assert backend.get("cache-test-key") == 42
