// rapidoc ships no types: importing it defines the <rapi-doc> custom element.
declare module "rapidoc";
