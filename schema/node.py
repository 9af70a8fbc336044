import strawberry


@strawberry.interface(description="An object with a global id, fetchable again through `Query.node`.")
class Node:
    id: strawberry.ID
