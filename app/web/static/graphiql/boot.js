// Mounts GraphiQL (vendored UMD build) on #graphiql. Settings come from the page's JSON config element,
// so the page itself needs no inline script.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var configElement = document.getElementById('graphiql-config');
  var config = JSON.parse(configElement.textContent);

  // Same-origin request: the browser sends the gateway's cookies (login flow) with every operation.
  function sameOriginFetch(input, init) {
    return window.fetch(input, Object.assign({}, init, { credentials: 'same-origin' }));
  }

  var fetcher = GraphiQL.createFetcher({
    url: config.url,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
  });

  // GraphiQL keeps the user's tabs in localStorage. On a first visit (nothing stored) the example's variables
  // are passed explicitly: GraphiQL 3 fills the variables editor from the `variables` prop, not from defaultTabs.
  function firstVisit() {
    try {
      return window.localStorage.getItem('graphiql:tabState') === null;
    } catch (error) {
      return true;
    }
  }

  var props = {
    fetcher: fetcher,
    defaultQuery: config.defaultQuery,
    defaultTabs: [{ query: config.defaultQuery, variables: config.defaultVariables }],
    defaultEditorToolsVisibility: 'variables',
    shouldPersistHeaders: false,
  };
  if (firstVisit()) {
    props.variables = config.defaultVariables;
  }

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
